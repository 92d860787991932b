"""Neural style transfer: repaint a photo in the style of a painting with VGG16.

    python examples/style_transfer.py --content PHOTO.jpg --style PAINTING.jpg

Gatys, Ecker and Bethge (2016, "Image Style Transfer Using Convolutional Neural
Networks") separate what a picture shows from how it is painted with the feature maps
of a network trained to recognise objects:

* content: the ReLU map of conv4_2, deep enough to hold objects and their layout but
  not the exact pixels.  The content loss is the mean squared difference between the
  maps of the image being made and of the photo.
* style: the Gram matrices of the ReLU maps of conv1_1, conv2_1, conv3_1, conv4_1 and
  conv5_1.  With F the C x (H*W) map of a layer, G = F Fᵀ / (C*H*W) holds how strongly
  each pair of channels fires together, summed over the positions: it keeps textures,
  colours and strokes and forgets where they are.  The style loss is the mean squared
  difference between the Gram matrices of the image being made and of the painting,
  summed over the five layers.
* the total variation, half the sum of the squared differences between neighbouring
  pixels, a little of which keeps the result from speckling.

The image being made is a Parameter, started from the photo and moved by Adam (step
``--lr`` 10 on the 0..255 pixel scale, VGG16's own) to lower
``--content-weight`` 5 * content + ``--style-weight`` 100 * style + ``--tv-weight``
0.001 * variation; after each step its pixels are clipped to the valid range.  VGG16's
weights stay fixed and, as Gatys et al. suggest, its max poolings are replaced by
average poolings, which pass gradients to every pixel.  Both images are scaled to
``--size`` pixels on their longer side (224 by default, the size VGG16 was trained on).

The script prints the losses every ``--print-every`` iterations and saves
``style_transfer.png`` (photo, painting and result side by side),
``style_transfer_result.png`` (the result alone) and ``style_transfer_loss.png`` (the
three weighted losses and their sum, per iteration, on a log scale).  What to look at:
the style loss falls while the content loss, zero at the start, rises, and the result
trades one for the other: the photo's objects stay recognisable under the painting's
colours and textures.  A larger ``--content-weight`` keeps more of the photo, a larger
``--style-weight`` more of the painting.  On a 2-core CPU an iteration at 224 pixels
takes about half a second, so the default 300 take a few minutes.

The pretrained weights are DeZero's ``vgg16.npz`` (about 550 MB), looked for in
``$DEZERO_HOME/models`` (``~/.dezero/models``) and downloaded there when missing;
offline, the script says where to put the file.  ``--random-weights`` uses an untrained
VGG16, whose features know no style: the loss still falls, the picture means little.
With ``--smoke`` it runs in seconds on generated images with a small VGG16-shaped
network of random weights, to check that everything works.
"""

import argparse
import os
import sys
import time

import numpy as np

try:
    import dezero
except ImportError:  # run from a checkout without installing: use the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import dezero

import dezero.functions as F
from dezero import Layer, Parameter, optimizers
from dezero.models import VGG16

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from options import (
    check_at_least_one,
    check_output_files,
    exit_unless_memory_fits,
    model_size,
    non_negative_float,
    out_of_memory_exits,
    output_folder,
    parse_options,
    positive_float,
    remove_stale_files,
    run_main,
    training_diverged,
)
from plotting import pyplot, save_figure, save_image
from vgg16_features import (
    CONV_NAMES,
    add_model_options,
    feature_maps,
    fit_size,
    generated_pattern,
    generated_photo,
    load_model,
    memory_needed,
    pixel_bounds,
    read_image,
    to_rgb,
)

CONTENT_LAYER = 'conv4_2'
STYLE_LAYERS = ('conv1_1', 'conv2_1', 'conv3_1', 'conv4_1', 'conv5_1')
#: The smallest side that leaves conv5_1 (after four 2x2 poolings) a map of 1x1.
MIN_SIDE = 16
#: The largest loss weight: the losses are float32, and a larger weight is no float32.
MAX_WEIGHT = float(np.finfo(np.float32).max)
#: The weighted losses, and the options of their weights.
PARTS = {'content': '--content-weight', 'style': '--style-weight', 'tv': '--tv-weight'}


def loss_weight(value):
    """An argparse type for a loss weight: a number from 0 (the term turned off) to
    ``MAX_WEIGHT``, the largest float32."""
    number = non_negative_float(value)
    if number > MAX_WEIGHT:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_WEIGHT:g} (the largest float32, the losses' dtype), got {value}"
        )
    return number


def extract(model, x, names):
    """{name: ReLU map} of the convolutions ``names`` of ``model`` (VGG16 or a network
    with its layer names) for the images ``x``, (N, 3, H, W), with average pooling
    between the stages.  The layers after the deepest one asked for are not run."""
    unknown = [name for name in names if name not in CONV_NAMES]
    if unknown:
        raise ValueError(
            f'extract: no convolution named {", ".join(unknown)}; VGG16 has {", ".join(CONV_NAMES)}'
        )
    wanted, maps = set(names), {}
    for name, feature_map in feature_maps(model, x, pooling=F.average_pooling):
        if name in wanted:
            maps[name] = feature_map
            if len(maps) == len(wanted):
                break
    return maps


def gram_matrix(features):
    """The Gram matrix G = F Fᵀ / (C*H*W) of the feature map ``features`` of
    one image, (1, C, H, W), F being the map as a C x (H*W) matrix: entry (i, j) is
    the sum over the positions of channel i times channel j, divided by the number of
    elements.  Shape (C, C).  Its gradient, for an upstream gradient U of G, is
    (U + Uᵀ) F / (C*H*W)."""
    if features.ndim != 4 or features.shape[0] != 1:
        raise ValueError(
            f'gram_matrix: expected the feature map of one image, of shape '
            f'(1, channels, height, width), got shape {features.shape}'
        )
    _, c, h, w = features.shape
    f = F.reshape(features, (c, h * w))
    return F.matmul(f, f.T) / (c * h * w)


def content_loss(features, target):
    """The mean over the elements of (features - target)²."""
    return F.mean((features - target) ** 2)


def style_loss(features, target_gram):
    """The mean over the C x C entries of (gram_matrix(features) - target_gram)²."""
    return F.mean((gram_matrix(features) - target_gram) ** 2)


def total_variation(x):
    """Half the sum of the squared differences between horizontally and between
    vertically neighbouring pixels of the images ``x``, (N, C, H, W)."""
    dx = x[:, :, :, 1:] - x[:, :, :, :-1]
    dy = x[:, :, 1:, :] - x[:, :, :-1, :]
    return (F.sum(dx**2) + F.sum(dy**2)) / 2


def transfer(
    model,
    content,
    style,
    iters,
    lr=10.0,
    content_weight=5.0,
    style_weight=100.0,
    tv_weight=1e-3,
    on_step=None,
):
    """Make an image with the content of ``content`` and the style of ``style`` (both
    (1, 3, H, W) in VGG16's input format, of any sizes with sides of at least
    ``MIN_SIDE`` pixels) by ``iters`` Adam steps of size ``lr`` on its pixels, started
    from ``content``.  After step i, ``on_step(i, losses)`` is called, if given, with
    the weighted losses of the image that step started from (``content``, ``style``,
    ``tv`` and their sum ``loss``).  Returns the image (same shape and dtype as
    ``content``) and the history: the per-iteration lists of those losses.  A loss
    that is no longer a number (too large a weight overflows it) ends the steps early:
    the image's pixels are no longer numbers either."""
    with dezero.no_grad():
        content_target = extract(model, content, [CONTENT_LAYER])[CONTENT_LAYER].data
        style_grams = {
            name: gram_matrix(m).data for name, m in extract(model, style, STYLE_LAYERS).items()
        }
    canvas = Layer()  # the holder an optimizer needs: its params() is the image
    canvas.image = Parameter(np.array(content, copy=True), name='image')
    optimizer = optimizers.Adam(lr).setup(canvas)
    low, high = pixel_bounds(content.dtype)
    history = {'loss': [], 'content': [], 'style': [], 'tv': []}
    for i in range(1, iters + 1):
        image = canvas.image
        maps = extract(model, image, (CONTENT_LAYER,) + STYLE_LAYERS)
        parts = {
            'content': content_weight * content_loss(maps[CONTENT_LAYER], content_target),
            'style': style_weight
            * sum(style_loss(maps[name], gram) for name, gram in style_grams.items()),
            'tv': tv_weight * total_variation(image),
        }
        loss = parts['content'] + parts['style'] + parts['tv']
        model.cleargrads()  # VGG16's weights get gradients too; only the image moves
        image.cleargrad()
        loss.backward()
        optimizer.update()
        np.clip(image.data, low, high, out=image.data)
        figures = {name: float(v.data) for name, v in parts.items()}
        figures['loss'] = float(loss.data)
        for name, value in figures.items():
            history[name].append(value)
        if on_step is not None:
            on_step(i, figures)
        if not all(map(np.isfinite, figures.values())):
            break
    model.cleargrads()
    return canvas.image.data, history


def save_comparison(plt, images, path, title):
    """Save the RGB ``images`` ({caption: (H, W, 3) uint8}) side by side, drawn with
    ``plt`` (matplotlib.pyplot)."""
    fig, axes = plt.subplots(1, len(images), figsize=(3.6 * len(images), 4))
    for ax, (caption, image) in zip(axes, images.items()):
        ax.imshow(image)
        ax.set_title(caption, fontsize=10)
        ax.axis('off')
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save_figure(fig, path, dpi=90)


def save_losses(plt, history, path, title):
    """Save the weighted losses and their sum per iteration on a log scale, drawn
    with ``plt`` (matplotlib.pyplot)."""
    steps = np.arange(1, len(history['loss']) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, label, line in (
        ('style', 'style', '-'),
        ('content', 'content', '-'),
        ('tv', 'total variation', '-'),
        ('loss', 'total', 'k:'),
    ):
        values = np.array(history[name])
        drawable = np.isfinite(values) & (values > 0)  # the content loss is 0 at the start
        ax.plot(steps[drawable], values[drawable], line, label=label, linewidth=1.5)
    ax.set_yscale('log')
    ax.set_xlabel('iteration')
    ax.set_ylabel('weighted loss')
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=90)


def input_images(parser, args):
    """The content and the style image, ``{'content': ..., 'style': ...}``, each
    scaled to ``--size`` pixels on its longer side and preprocessed for VGG16 (a batch
    of one): generated images with ``--smoke``, else the files given.  An image whose
    shorter side would be under ``MIN_SIDE`` pixels is refused through
    ``parser.error``."""
    if args.smoke:
        photo = generated_photo(args.size, args.size, seed=args.seed)
        painting = generated_pattern(args.size, args.size)
    else:
        photo, painting = read_image(args.content), read_image(args.style)
    images = {}
    for what, rgb in (('content', photo), ('style', painting)):
        width, height = fit_size(rgb.shape[0], rgb.shape[1], args.size)
        if min(width, height) < MIN_SIDE:
            parser.error(
                f'the {what} image, {rgb.shape[1]}x{rgb.shape[0]}, scaled to '
                f'{width}x{height} by --size {args.size}, has a side under '
                f'{MIN_SIDE} pixels; give a larger --size'
            )
        images[what] = VGG16.preprocess(rgb, size=(width, height))[np.newaxis]
    return images


def blamed_part(history):
    """The weighted loss whose weight is likely too large once the losses of
    ``history`` are no longer numbers: the first one that overflowed, else the largest
    one where their sum overflowed, or (all gone NaN at once) one iteration earlier."""
    i = next(i for i, loss in enumerate(history['loss']) if not np.isfinite(loss))
    at = {name: history[name][i] for name in PARTS}
    if any(np.isnan(value) for value in at.values()) and i > 0:
        at = {name: history[name][i - 1] for name in PARTS}
    return max(PARTS, key=lambda name: -np.inf if np.isnan(at[name]) else at[name])


def loss_change(first, last):
    """How the loss went from ``first`` to ``last``, for the line that gives both:
    ``' (3.2x lower)'``, ``' (1.5x higher)'`` (too large a ``--lr`` can raise it), or
    words for a loss of 0."""
    if last > first:
        return f' ({last / first:.1f}x higher)' if first > 0 else ' (up from 0)'
    if last > 0:
        return f' ({first / last:.1f}x lower)'
    if first == 0:  # only the content loss counts, and the image starts as the content
        return ' (0 from the start: nothing to lower)'
    return ' (down to 0)'


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Repaint the content image in the style of the style image with '
        'VGG16 features (Gatys et al.); print the losses and save the '
        'result and the loss curves.'
    )
    parser.add_argument('--content', metavar='PATH', help='the photo to repaint')
    parser.add_argument('--style', metavar='PATH', help='the painting whose style to use')
    parser.add_argument(
        '--iters',
        type=int,
        default=None,
        metavar='N',
        help='Adam steps (default: 300, or 20 with --smoke)',
    )
    parser.add_argument(
        '--size',
        type=model_size,
        default=None,
        metavar='S',
        help='pixels on the longer side of both images (default: 224, or 48 with --smoke)',
    )
    parser.add_argument(
        '--lr',
        type=positive_float,
        default=10.0,
        help='Adam step size on the 0..255 pixel scale (default: 10)',
    )
    parser.add_argument(
        '--content-weight',
        type=loss_weight,
        default=5.0,
        metavar='W',
        help='weight of the content loss (default: 5)',
    )
    parser.add_argument(
        '--style-weight',
        type=loss_weight,
        default=100.0,
        metavar='W',
        help='weight of the style loss (default: 100)',
    )
    parser.add_argument(
        '--tv-weight',
        type=loss_weight,
        default=1e-3,
        metavar='W',
        help='weight of the total variation (default: 0.001)',
    )
    parser.add_argument(
        '--print-every',
        type=int,
        default=None,
        metavar='N',
        help='print the losses every N iterations (default: 10, or 1 with --smoke)',
    )
    add_model_options(parser)
    parser.add_argument(
        '--out', type=output_folder, default='out', help='folder for the pictures (default: out)'
    )
    args = parse_options(parser, argv, smoke_replaces=['content', 'style'])
    if not args.smoke and (args.content is None or args.style is None):
        parser.error('give the images with --content PATH --style PATH (or --smoke)')
    if args.iters is None:
        args.iters = 20 if args.smoke else 300
    if args.size is None:
        args.size = 48 if args.smoke else 224
    if args.print_every is None:
        args.print_every = 1 if args.smoke else 10
    check_at_least_one(parser, args, 'iters', 'print_every')
    if args.size < MIN_SIDE:
        parser.error(f'--size must be {MIN_SIDE} or more, got {args.size}')
    paths = {
        'comparison': os.path.join(args.out, 'style_transfer.png'),
        'result': os.path.join(args.out, 'style_transfer_result.png'),
        'losses': os.path.join(args.out, 'style_transfer_loss.png'),
    }
    check_output_files(parser, paths.values(), {'--content': args.content, '--style': args.style})
    exit_unless_memory_fits(args, memory_needed(args.size, args.smoke), 'size')

    with out_of_memory_exits(args, 'size'):
        images = input_images(parser, args)
        model = load_model(args)
    pretrained = not (args.smoke or args.random_weights)
    _, _, height, width = images['content'].shape
    print(f'{args.iters} iterations at {width}x{height} (width x height)')

    width_i = len(str(args.iters))
    start = time.perf_counter()

    def report(i, figures):
        if i % args.print_every == 0 or i == args.iters:
            seconds = (time.perf_counter() - start) / i
            print(
                f'iter {i:{width_i}d}/{args.iters}  loss {figures["loss"]:.4e}  '
                f'content {figures["content"]:.4e}  style {figures["style"]:.4e}  '
                f'tv {figures["tv"]:.4e}  ({seconds:.2f} s/iter)',
                flush=True,
            )

    with out_of_memory_exits(args, 'size'):
        result, history = transfer(
            model,
            images['content'],
            images['style'],
            args.iters,
            args.lr,
            args.content_weight,
            args.style_weight,
            args.tv_weight,
            on_step=report,
        )
    diverged = not np.isfinite(history['loss'][-1])
    if diverged:
        name = blamed_part(history)
        attribute = PARTS[name][2:].replace('-', '_')
        value, default = getattr(args, attribute), parser.get_default(attribute)
        what = {'tv': 'total variation'}.get(name, name)
        blame = dict(option=PARTS[name], what=f'the {what} weight')
        skipped = 'no result saved: its pixels are no longer numbers'
        losses = {name: history[name] for name in (*PARTS, 'loss')}
        training_diverged(losses, value, default, 'iteration', skipped=skipped, **blame)
    else:
        first, last = history['loss'][0], history['loss'][-1]
        print(
            f'loss {first:.4e} at the first iteration, {last:.4e} at the last'
            + loss_change(first, last)
        )

    written = []
    plt = pyplot('pictures')
    if plt is not None:
        os.makedirs(args.out, exist_ok=True)
        note = '' if pretrained else '\nwith random weights: a check of the method, not a result'
        if not diverged:
            save_comparison(
                plt,
                {
                    'content': to_rgb(images['content']),
                    'style': to_rgb(images['style']),
                    f'result after {args.iters} iterations': to_rgb(result),
                },
                paths['comparison'],
                'Neural style transfer on VGG16' + note,
            )
            print(f'saved {paths["comparison"]}')
            save_image(to_rgb(result), paths['result'])
            print(f'saved {paths["result"]}')
            written += [paths['comparison'], paths['result']]
        title = 'Style transfer losses' + (' (diverged)' if diverged else note)
        save_losses(plt, history, paths['losses'], title)
        print(f'saved {paths["losses"]}')
        written.append(paths['losses'])
    # an earlier run's result would lie beside the loss curves of one that diverged
    remove_stale_files(list(paths.values()), written)
    return 1 if diverged else 0


if __name__ == '__main__':
    sys.exit(run_main(main))
