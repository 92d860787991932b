"""Tiny Shakespeare: about a million characters of Shakespeare's plays, for
character-level language models."""

import numpy as np

from dezero.datasets.base import Dataset, fetch


def _read_text(path):
    """The text of the UTF-8 file ``path``; ValueError if it is not UTF-8 or holds
    fewer than two characters (one input and its next character)."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if len(text) < 2:
        raise ValueError(f'it holds {len(text)} character(s), expected at least 2')
    return text


class Shakespeare(Dataset):
    """Tiny Shakespeare as a sequence of character ids: item i is the id of character
    i and its label the id of character i + 1.

    The ids number the distinct characters in the order they first appear in the text;
    ``char_to_id`` and ``id_to_char`` map between the two.  ``data`` and ``label`` are
    int64 (N - 1,) for a text of N characters.  There is one text and no test split:
    ``train`` is kept but selects nothing.  The text is downloaded once from ``url``
    into ``downloads_dir()`` as ``shakespear.txt`` (offline, the error names the file
    and the folder to put it into).  ``Shakespear``, the book's spelling, is the same
    class.
    """

    url = (
        'https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt'
    )
    file_name = 'shakespear.txt'

    def prepare(self):
        """Read the text (downloaded if missing), number its characters and turn it
        into pairs of a character's id and the next one's."""
        owner = type(self).__name__
        path = fetch(owner, self.url, file_name=self.file_name, validate=_read_text)
        try:
            text = _read_text(path)
        except ValueError as e:  # UnicodeDecodeError is a ValueError
            raise ValueError(
                f'{owner}: {path} is not a usable text ({e}); delete it and try again'
            ) from None
        # dict.fromkeys keeps the first appearance of each character, in text order
        self.char_to_id = {c: i for i, c in enumerate(dict.fromkeys(text))}
        self.id_to_char = {i: c for c, i in self.char_to_id.items()}
        ids = np.array([self.char_to_id[c] for c in text], dtype=np.int64)
        self.data, self.label = ids[:-1], ids[1:]


Shakespear = Shakespeare
