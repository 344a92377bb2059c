"""Bytes of a text file -> text: BOM, strict UTF-8, else charset-normalizer (GB family read as GB18030).

Also `UnreadableFile`, the one error every loader raises for a file that is not a readable report.
"""

from __future__ import annotations

from pathlib import Path

from ingest.zh.markup import CONTROL_RE

# charset-normalizer names the Chinese national encodings by their narrowest match; GB18030 is a strict
# superset of GBK and GB2312, so decoding with it never loses a character the narrower one would read.
_GB_FAMILY = {"gb2312", "gbk", "cp936", "hz", "gb18030", "euc_cn", "ms936"}
_CJK_CODEC_TAGS = ("big5", "gb", "shift_jis", "sjis", "euc", "iso2022", "cp949", "cp950")
# Control characters never occur in a text report (tab, LF, CR and form feed do): a share above this is binary.
_MAX_CONTROL_RATIO = 0.01


class UnreadableFile(Exception):
    """A file that cannot be turned into report text; `reason` says why in a few words.

    Reasons in use: "file not found", "empty file", "binary file", "undecodable text", "corrupt docx",
    "corrupt pdf", "encrypted pdf", "no text layer in pdf", "no text in docx", "no text in html",
    "unsupported file type .xyz".
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def decode_text(data: bytes, path: str | Path = "<bytes>") -> tuple[str, str]:
    """Decode the bytes of a text file, detecting the encoding; returns (text, encoding name).

    Order: a BOM decides (UTF-8 BOM is stripped); NUL bytes mean binary; strict UTF-8; otherwise
    charset-normalizer, with any GB-family answer decoded as GB18030.
    """
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return _check_not_binary(data.decode(encoding), path), encoding
            except UnicodeDecodeError as exc:
                raise UnreadableFile(path, "undecodable text") from exc
    if b"\x00" in data:
        raise UnreadableFile(path, "binary file")
    try:
        return _check_not_binary(data.decode("utf-8"), path), "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = _detect_encoding(data)
    if encoding is None:
        raise UnreadableFile(path, "binary file")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise UnreadableFile(path, "undecodable text") from exc
    return _check_not_binary(text, path), encoding


def _detect_encoding(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return None
    encoding = best.encoding.lower().replace("-", "_")
    if encoding in _GB_FAMILY:
        return "gb18030"
    # Short GBK texts are sometimes guessed as a single-byte Western code page; a report that decodes
    # cleanly as GB18030 into mostly CJK is far more likely Chinese than mojibake Latin-1.
    if not _is_cjk_codec(encoding) and _looks_like_gb18030(data):
        return "gb18030"
    return best.encoding


def _is_cjk_codec(encoding: str) -> bool:
    return any(tag in encoding for tag in _CJK_CODEC_TAGS)


def _looks_like_gb18030(data: bytes) -> bool:
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    visible = [ch for ch in text if not ch.isspace()]
    cjk = sum(1 for ch in visible if "\u4e00" <= ch <= "\u9fff")
    return bool(visible) and cjk / len(visible) >= 0.3


def _check_not_binary(text: str, path: str | Path) -> str:
    """Reject text that decoded but is mostly control characters (a renamed binary file)."""
    controls = len(CONTROL_RE.findall(text))
    if text and controls / len(text) > _MAX_CONTROL_RATIO:
        raise UnreadableFile(path, "binary file")
    return text
