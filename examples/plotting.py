"""What the examples share for their pictures: matplotlib when it is installed, grids
of digit images, and saving a figure or an image so that the file is written whole or
not at all (an interrupted save leaves the previous picture as it was; see
:mod:`dezero.atomic`).  A picture is drawn into memory first, so that its file is open
only for the moment its bytes take to be written.  Every example saves its pictures with :func:`save_figure` or
:func:`save_image`, never with ``savefig`` or ``imsave`` on a path."""

import io
import os

import numpy as np

from dezero.atomic import atomic_write_bytes


def pyplot(what='pictures'):
    """``matplotlib.pyplot`` set up to draw into files only (the Agg backend), or None
    after printing that there will be no ``what`` because matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        print(
            f'no {what}: matplotlib is not installed '
            "(pip install matplotlib, or install dezero with the 'examples' extra)"
        )
        return None
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt


def tile(images, cols=8, pad=2):
    """Images (N, 784) or (N, 28, 28) side by side in a grid of ``cols`` columns, with
    ``pad`` pixels of white (1.0) between and around them: one 2-D array."""
    images = np.asarray(images).reshape(len(images), 28, 28)
    rows = -(-len(images) // cols)
    grid = np.ones((pad + rows * (28 + pad), pad + cols * (28 + pad)), images.dtype)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        top, left = pad + r * (28 + pad), pad + c * (28 + pad)
        grid[top : top + 28, left : left + 28] = image
    return grid


def save_samples(plt, images, path, title):
    """Save ``images`` (values in [0, 1]) as an 8-column grid with a title, drawn with
    ``plt`` (matplotlib.pyplot)."""
    fig, ax = plt.subplots(figsize=(4, 4.3))
    ax.imshow(tile(images), cmap='gray', vmin=0, vmax=1, interpolation='nearest')
    ax.set_title(title, fontsize=10)
    ax.axis('off')
    fig.tight_layout()
    save_figure(fig, path, dpi=80)


def save_figure(fig, path, dpi=100):
    """Write the matplotlib figure ``fig`` to ``path``, in the format its extension
    names (PNG without one), whole or not at all, and close the figure (also when the
    save fails, whose error propagates)."""
    import matplotlib.pyplot as plt  # loaded already: fig was drawn with it

    try:
        picture = io.BytesIO()
        fig.savefig(picture, format=_image_format(path), dpi=dpi)
    finally:
        plt.close(fig)
    atomic_write_bytes(path, picture.getvalue())


def save_image(image, path):
    """Write ``image``, an array (H, W, 3) of RGB values (uint8, or floats in [0, 1]),
    pixel for pixel to ``path``, in the format its extension names (PNG without one),
    whole or not at all."""
    from matplotlib import image as mpimg

    picture = io.BytesIO()
    mpimg.imsave(picture, image, format=_image_format(path))
    atomic_write_bytes(path, picture.getvalue())


def _image_format(path):
    """The picture format that the extension of ``path`` names: 'png' for 'a.PNG',
    and for a path without an extension."""
    return os.path.splitext(os.fsdecode(path))[1].lstrip('.').lower() or 'png'
