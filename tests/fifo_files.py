"""A FIFO (named pipe) with bytes waiting in it, for the tests that check that a
reader refuses a FIFO without reading it (opened to read, a FIFO waits for a writer,
forever if none comes)."""

import contextlib
import os

#: The bytes written into the FIFO, still there if nobody read them.
WAITING = b'{}'


def refusal(fifo, owner):
    """The message with which ``owner`` refuses to read the FIFO at ``fifo``."""
    return (
        f'{owner}: cannot read {fifo}: it is a FIFO (named pipe), not a regular file; '
        f'give the path of a file'
    )


@contextlib.contextmanager
def waiting_fifo(fifo):
    """Make a FIFO at ``fifo`` and hold a writer with :data:`WAITING` in it during the
    block; afterwards check that those bytes are still there (nobody read them)."""
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        os.write(writer, WAITING)
        yield
        assert os.read(writer, 100) == WAITING  # nobody read them
    finally:
        os.close(writer)
