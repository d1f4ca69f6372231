"""Parse the body of a plain CSV file with pyarrow: the quick way to read a large file.

Python's csv module hands each record to Python, which at 200,000 cases is most of the
time of a load. pyarrow's parser is C++ and uses every core, and pandas already imports
pyarrow, so it costs nothing more to start. But on odd input the two parsers do not
agree: a quote inside an unquoted cell, text after a closing quote, a line break inside a
quoted cell, a line of spaces, a row of the wrong length. So `codes` takes only a body on
which they cannot differ (every row one line of the header's width, every quote part of
a cleanly quoted cell) and otherwise returns None, leaving the file to the csv module,
which also words every fault in it. A property test holds the two to the same cells.
"""

from __future__ import annotations

import re

import numpy as np

# Bytes that end a line for Python's universal newlines or str.splitlines but not for
# pyarrow (a lone CR is checked apart), and NUL, which C code may take as an end.
NOT_PLAIN = (b"\x00", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e",
             b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")
_PRINTABLE = bytes(range(32, 127))
# A cell in double quotes on one line (doubled quotes inside are runs of the same shape,
# back to back), and the character after it: searching for the quoted runs alone lets
# the search skip ahead to each quote; where a cell stands is checked apart.
_QUOTED = re.compile(rb'("[^"\r\n]*"(?:"[^"\r\n]*")*)(.?)', re.DOTALL)


def plain(data: bytes, start: int, delimiter: str) -> bool:
    """Whether the two parsers must agree on `data[start:]`, which starts a line (rows'
    lengths aside, which pyarrow checks): no line ends but LF or CRLF and no NUL in the
    whole file (so the lines above the header are plain too), and every quote below
    `start` part of a cell that is quoted from its first character to its last."""
    # With printable ASCII taken out, what is left is small (line ends, tabs, and other
    # characters, whose UTF-8 bytes are all above 127 and stay together), so one pass in
    # C leaves a short text to search.
    rest = data.translate(None, _PRINTABLE)
    if any(b in rest for b in NOT_PLAIN):
        return False
    crs = rest.count(b"\r")
    if crs and crs != data.count(b"\r\n"):
        return False
    quotes = data.count(b'"', start)
    if not quotes:
        return True
    d = delimiter.encode()
    ends = {d, b"\r", b"\n", b""}
    starts, found = [], 0
    for cell in _QUOTED.finditer(data, start):
        if cell.group(2) not in ends:
            return False
        starts.append(cell.start())
        found += cell.group(1).count(b'"')
    if found != quotes:
        return False
    at = np.array(starts, dtype=np.int64)
    before = np.frombuffer(data, np.uint8)[at[at > start] - 1]
    return bool(np.isin(before, (ord(d), ord("\n"))).all())


def lines(data: bytes, start: int) -> int:
    """Lines in `data[start:]`, the last counted whether or not it ends with a break."""
    n = data.count(b"\n", start)
    return n + 1 if len(data) > start and not data.endswith(b"\n") else n


def codes(data: bytes, start: int, delimiter: str, width: int,
          block_size: int | None = None) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """For each of `width` columns of the body `data[start:]` (which starts a line), the
    codes of its cells (int32, in file order) into its distinct texts (an object array,
    in order of first appearance); None if the body is empty or not one that pyarrow
    reads exactly as the csv module would.

    The reader codes each block of the file as it parses it (`block_size` bytes; only
    tests set it), so whole columns of text are never held; one thread, because more
    gain little here and hold more blocks at once. Arrow's allocator keeps what it
    freed for reuse, which would stay in the build's memory for good, so it is handed
    back at the end."""
    if len(data) <= start or not plain(data, start, delimiter):
        return None
    import pyarrow as pa
    import pyarrow.csv as pcsv

    names = [f"c{j}" for j in range(width)]
    text = pa.dictionary(pa.int32(), pa.string())
    read = pcsv.ReadOptions(column_names=names, use_threads=False)
    if block_size is not None:
        read.block_size = block_size
    try:
        table = pcsv.read_csv(
            pa.BufferReader(pa.py_buffer(data).slice(start)), read_options=read,
            parse_options=pcsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, text),
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError):  # a row of another length, bad UTF-8
        return None
    if table.num_rows != lines(data, start):  # a row per line, as `load` numbers them
        return None
    out = []
    for j in range(width):
        # One chunk per block, each with its own dictionary: joined, the dictionaries are
        # merged in block order, so the texts stay in order of first appearance.
        joined = table.column(j).combine_chunks()
        out.append((joined.indices.to_numpy().astype(np.int32, copy=False),
                    joined.dictionary.to_numpy(zero_copy_only=False)))
    del table, joined
    pa.default_memory_pool().release_unused()
    return out
