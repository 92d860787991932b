"""What the examples share for their pictures: matplotlib when it is installed, and
grids of digit images."""

import numpy as np


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
    fig.savefig(path, dpi=80)
    plt.close(fig)
