"""What the examples share for their pictures: matplotlib when it is installed."""


def pyplot(what='pictures'):
    """``matplotlib.pyplot`` set up to draw into files only (the Agg backend), or None
    after printing that there will be no ``what`` because matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        print(f"no {what}: matplotlib is not installed "
              "(pip install matplotlib, or install dezero with the 'examples' extra)")
        return None
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt
