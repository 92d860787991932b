"""Grad-CAM: which parts of an image make VGG16 see the class it sees.

    python examples/grad_cam.py --image PHOTO.jpg

VGG16 classifies the image (resized to 224x224 by ``VGG16.preprocess``) and the script
prints its five most likely classes.  Grad-CAM (Selvaraju et al. 2017, "Grad-CAM:
Visual Explanations from Deep Networks via Gradient-based Localization") then explains
the top class, or the class ``--class-index K``:

1. A is the feature map of the last convolution, the ReLU of conv5_3: 512 channels of
   14x14 positions, each channel a detector of some pattern, each position one 16x16
   block of the input.
2. The gradient of the class score y (fc8's output, before the softmax) with respect
   to A, by backpropagation through the classifier alone (pooling, fc6, fc7, fc8),
   averaged over the 14x14 positions, gives one weight per channel: how much that
   channel's activity raises the score.
3. The map ReLU(sum over the channels of weight * channel) is high where the channels
   that speak for the class are active; the ReLU drops the evidence against it.
4. It is upsampled bilinearly to the image's size, divided by its maximum (values in
   [0, 1]) and laid over the image in the colours of the "jet" colour map: red is
   strongest.

It saves ``grad_cam.png`` (the image, the heat map and the overlay side by side) and
``grad_cam_overlay.png`` (the overlay alone, at the image's size).  What to look at:
the red region covers the object the class names (the animal for an animal class,
not the background), and asking for another class with ``--class-index`` moves it to
the part of the image that speaks for that class.

The pretrained weights are DeZero's ``vgg16.npz`` (about 550 MB), looked for in
``$DEZERO_HOME/models`` (``~/.dezero/models``) and downloaded there when missing;
offline, the script says where to put the file.  ``--random-weights`` runs an
untrained VGG16 instead: the map then follows whatever the random filters respond to,
not an object.  With ``--smoke`` it runs in a second on a generated image with a small
VGG16-shaped network of random weights, to check that everything works.  Class names
are shown when ``dezero.datasets.ImageNet.labels()`` can provide them (with the
pretrained weights only), class indices otherwise.
"""

import argparse
import os
import sys

import numpy as np

try:
    import dezero
except ImportError:  # run from a checkout without installing: use the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import dezero

import dezero.datasets
import dezero.functions as F
from dezero.models import VGG16

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from options import (
    check_output_files,
    output_folder,
    parse_options,
    remove_stale_files,
    run_main,
)
from plotting import pyplot, save_figure, save_image
from vgg16_features import (
    add_model_options,
    class_scores,
    feature_maps,
    generated_photo,
    load_model,
    read_image,
)

#: The input size VGG16's classifier takes (fc6 reads 7x7 maps of 512 channels).
INPUT_SIZE = 224


def grad_cam(feature_map, head, class_index):
    """The Grad-CAM map of class ``class_index`` for one image.

    ``feature_map`` is the output A of a convolutional layer (after its ReLU), an array
    or Variable of shape (1, K, h, w); ``head`` is the rest of the network, a function
    from such a map to class scores (1, classes).  With y = head(A)[0, class_index],
    the weight of channel k is the mean over the h x w positions of dy/dA_k, and the map
    is ReLU(sum_k weight_k * A_k), of shape (h, w), not normalised.

    Returns ``(map, weights, y)``: two arrays of A's dtype and the score as a float.
    """
    a = np.asarray(feature_map.data if isinstance(feature_map, dezero.Variable) else feature_map)
    if a.ndim != 4 or a.shape[0] != 1:
        raise ValueError(
            f'grad_cam: expected the feature map of one image, of shape '
            f'(1, channels, height, width), got shape {a.shape}'
        )

    def score(x):
        scores = head(x)
        if scores.ndim != 2 or scores.shape[0] != 1:
            raise ValueError(
                f'grad_cam: head must return scores of shape (1, classes), got shape {scores.shape}'
            )
        if not 0 <= class_index < scores.shape[1]:
            raise ValueError(
                f'grad_cam: class_index must be in 0..{scores.shape[1] - 1}, got {class_index}'
            )
        return scores[0, class_index]

    y, dy_da = dezero.value_and_grad(score)(a)
    weights = dy_da[0].mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(weights, a[0], axes=1), 0)
    return cam.astype(a.dtype), weights.astype(a.dtype), float(y)


def normalize(cam):
    """``cam`` divided by its maximum, so that its values lie in [0, 1] and the highest
    is 1; all zeros when nothing in it is positive."""
    peak = cam.max()
    return cam / peak if peak > 0 else np.zeros_like(cam)


def resize_bilinear(array, height, width):
    """A 2-D ``array`` resized to ``height`` x ``width`` by bilinear interpolation,
    treating its values as samples at the centres of pixels (as image libraries do):
    output pixel i of n samples the input at (i + 0.5) * m / n - 0.5 of m, clamped to
    the edge pixels.  Values stay within the input's range."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f'resize_bilinear: expected a 2-D array, got shape {array.shape}')

    def sample(n_in, n_out):
        """The two neighbouring input indices of each output index and the weight of
        the second."""
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(pos).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, (pos - low).astype(array.dtype)

    y0, y1, wy = sample(array.shape[0], height)
    x0, x1, wx = sample(array.shape[1], width)
    rows = array[y0] * (1 - wy[:, None]) + array[y1] * wy[:, None]
    return rows[:, x0] * (1 - wx) + rows[:, x1] * wx


def overlay(image, colors, alpha=0.4):
    """The RGB ``image`` (H, W, 3) of uint8 blended with ``colors`` (H, W, 3) in [0, 1]
    at opacity ``alpha``: ``(1 - alpha) * image + alpha * 255 * colors``, rounded to
    uint8."""
    if image.shape != colors.shape:
        raise ValueError(
            f'overlay: the image has shape {image.shape} but the colours {colors.shape}'
        )
    blend = (1 - alpha) * image.astype(np.float64) + alpha * 255 * np.asarray(colors)
    return np.clip(np.rint(blend), 0, 255).astype(np.uint8)


def explain(model, image, class_index=None):
    """Classify the RGB ``image`` (H, W, 3) with ``model`` (VGG16 or a network with its
    layer names) and compute the Grad-CAM map of ``class_index``, by default the top
    class, on the ReLU map of conv5_3.  Returns a dict: ``probabilities`` (1000,),
    ``class_index``, ``score`` (the class score), ``weights`` (one per channel of
    conv5_3), ``cam`` (the map at conv5_3's resolution, not normalised) and ``heat``
    (the map upsampled to the image's size and divided by its maximum: values in
    [0, 1], the highest 1 unless the map is zero everywhere)."""
    x = VGG16.preprocess(image, size=(INPUT_SIZE, INPUT_SIZE))[np.newaxis]
    with dezero.no_grad():
        maps = dict(feature_maps(model, x))
        last = maps['conv5_3'].data
        scores = class_scores(model, last)
        probabilities = F.softmax(scores).data[0]
    if class_index is None:
        class_index = int(np.argmax(probabilities))

    cam, weights, score = grad_cam(last, lambda a: class_scores(model, a), class_index)
    heat = normalize(resize_bilinear(cam, image.shape[0], image.shape[1]))
    return {
        'probabilities': probabilities,
        'class_index': class_index,
        'score': score,
        'weights': weights,
        'cam': cam,
        'heat': heat,
    }


def imagenet_labels():
    """ImageNet's class names (indexable by class index) from
    ``dezero.datasets.ImageNet.labels()``, or None, after saying why, when this dezero
    has no such dataset or the names cannot be fetched."""
    imagenet = getattr(dezero.datasets, 'ImageNet', None)
    if imagenet is None or not hasattr(imagenet, 'labels'):
        print('class names are not available in this dezero: showing class indices')
        return None
    try:
        return imagenet.labels()
    except (OSError, ValueError) as e:  # offline without the file, or a bad file
        print(f'class names are not available ({e}): showing class indices')
        return None


def class_name(labels, index):
    """``'index name'``, or the index alone without labels."""
    return f'{index}' if labels is None else f'{index} {labels[index]}'


def save_explanation(plt, image, heat, path, title):
    """Save the image, the heat map and their overlay side by side, drawn with
    ``plt`` (matplotlib.pyplot)."""
    colors = plt.get_cmap('jet')(heat)[:, :, :3]
    fig, axes = plt.subplots(1, 3, figsize=(11, 4))
    panels = [(image, 'image'), (heat, 'Grad-CAM heat map'), (overlay(image, colors), 'overlay')]
    for ax, (picture, label) in zip(axes, panels):
        if picture.ndim == 2:
            shown = ax.imshow(picture, cmap='jet', vmin=0, vmax=1)
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        else:
            ax.imshow(picture)
        ax.set_title(label, fontsize=10)
        ax.axis('off')
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Classify an image with VGG16, print the top 5 classes and save '
        'the Grad-CAM heat map of the top class over the image.'
    )
    parser.add_argument(
        '--image', metavar='PATH', help='the image to explain (any format Pillow reads)'
    )
    parser.add_argument(
        '--class-index',
        type=int,
        default=None,
        metavar='K',
        help='explain class K (0..999) instead of the top class',
    )
    add_model_options(parser)
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the pictures (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['image'])
    if args.image is None and not args.smoke:
        parser.error('give the image to explain with --image PATH (or --smoke)')
    if args.class_index is not None and not 0 <= args.class_index < 1000:
        parser.error(f'--class-index must be in 0..999, got {args.class_index}')
    explanation_path = os.path.join(args.out, 'grad_cam.png')
    overlay_path = os.path.join(args.out, 'grad_cam_overlay.png')
    check_output_files(parser, [explanation_path, overlay_path], {'--image': args.image})

    if args.smoke:
        image = generated_photo(INPUT_SIZE, INPUT_SIZE, seed=args.seed)
    else:
        image = read_image(args.image)
    model = load_model(args)
    pretrained = not (args.smoke or args.random_weights)
    labels = imagenet_labels() if pretrained else None

    result = explain(model, image, args.class_index)
    probabilities = result['probabilities']
    print(
        f'image {image.shape[1]}x{image.shape[0]} (width x height), classified at '
        f'{INPUT_SIZE}x{INPUT_SIZE}; top 5 classes:'
    )
    for rank, k in enumerate(np.argsort(probabilities)[::-1][:5], 1):
        print(f'  {rank}. class {class_name(labels, int(k))}  probability {probabilities[k]:.4f}')

    k, heat, weights = result['class_index'], result['heat'], result['weights']
    h, w = result['cam'].shape
    print(
        f'Grad-CAM of class {class_name(labels, k)} (score {result["score"]:.4f}) on '
        f'conv5_3: {len(weights)} channel weights, {int((weights > 0).sum())} positive'
    )
    peak_y, peak_x = np.unravel_index(np.argmax(heat), heat.shape)
    print(
        f'heat map {w}x{h} upsampled to {heat.shape[1]}x{heat.shape[0]}, values in '
        f'[{heat.min():.3f}, {heat.max():.3f}], strongest at x={peak_x} y={peak_y}'
    )
    if heat.max() == 0:
        print('the map is zero everywhere: no channel of conv5_3 speaks for this class')

    plt = pyplot('pictures')
    if plt is None:  # an earlier run's pictures are not of this one
        remove_stale_files([explanation_path, overlay_path])
        return 0
    os.makedirs(args.out, exist_ok=True)
    title = f'Grad-CAM of class {class_name(labels, k)} (probability {probabilities[k]:.3f})'
    if not pretrained:
        title += '\nwith random weights: a check of the method, not a result'
    save_explanation(plt, image, heat, explanation_path, title)
    print(f'saved {explanation_path}')
    save_image(overlay(image, plt.get_cmap('jet')(heat)[:, :, :3]), overlay_path)
    print(f'saved {overlay_path}')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
