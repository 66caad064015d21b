"""Attachment readers and URL fetching for GAIA-style tools.

`read_attachment` turns a task's attached file into text for the agent: plain text and
Markdown as is, CSV as a pipe table, JSON/JSONL pretty-printed, and xlsx/pdf/docx when their
parser is installed (openpyxl, pypdf, python-docx — the `eval` extra). `fetch_text` downloads
a URL with size and time caps and extracts readable text from HTML (trafilatura when
installed, else lxml). Both raise `ToolError` with a message for the agent; the tool wrappers
turn it into an error observation.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from agentgym.errors import ToolError

__all__ = ["SUPPORTED_TYPES", "fetch_text", "html_to_text", "read_attachment"]

TEXT_SUFFIXES = (".txt", ".md", ".py", ".log", ".xml", ".html", ".htm", ".tsv")


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _read_csv(path: Path) -> str:
    rows = list(csv.reader(io.StringIO(_read_text(path))))
    return "\n".join(" | ".join(cell.strip() for cell in row) for row in rows)


def _read_json(path: Path) -> str:
    return json.dumps(json.loads(_read_text(path)), indent=1, ensure_ascii=False)


def _read_jsonl(path: Path) -> str:
    lines = [
        json.dumps(json.loads(line), ensure_ascii=False)
        for line in _read_text(path).splitlines()
        if line.strip()
    ]
    return "\n".join(lines)


def _read_xlsx(path: Path) -> str:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    parts = []
    for sheet in book.worksheets:
        rows = [
            " | ".join("" if v is None else str(v) for v in row) for row in sheet.iter_rows(values_only=True)
        ]
        parts.append(f"## sheet {sheet.title}\n" + "\n".join(rows))
    book.close()
    return "\n\n".join(parts)


def _read_pdf(path: Path) -> str:
    import pypdf

    reader = pypdf.PdfReader(str(path))
    return "\n\n".join((page.extract_text() or "") for page in reader.pages)


def _read_docx(path: Path) -> str:
    import docx

    document = docx.Document(str(path))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(" | ".join(cell.text for cell in row.cells) for row in table.rows)
    return "\n".join(parts)


# suffix -> (reader, the pip package that provides its parser or None)
_READERS: dict[str, tuple[Callable[[Path], str], str | None]] = {
    **{s: (_read_text, None) for s in TEXT_SUFFIXES},
    ".csv": (_read_csv, None),
    ".json": (_read_json, None),
    ".jsonl": (_read_jsonl, None),
    ".xlsx": (_read_xlsx, "openpyxl"),
    ".pdf": (_read_pdf, "pypdf"),
    ".docx": (_read_docx, "python-docx"),
}
SUPPORTED_TYPES: tuple[str, ...] = tuple(sorted(_READERS))


def read_attachment(path: str | Path, *, max_chars: int = 20_000) -> str:
    """Text of an attached file, capped at `max_chars`.

    Raises:
        ToolError: the type is unsupported, its parser is missing, or the file is unreadable.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise ToolError(
            f"cannot read {path.name}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_TYPES)}"
        )
    reader, package = _READERS[suffix]
    try:
        text = reader(path)
    except ImportError as exc:
        raise ToolError(
            f"cannot read {path.name}: reading {suffix} files needs `pip install {package}` ({exc})"
        ) from exc
    except Exception as exc:  # a corrupt attachment is an observation for the agent
        raise ToolError(
            f"cannot read {path.name}: the file is unreadable as {suffix} ({type(exc).__name__}: {exc})"
        ) from exc
    if len(text) > max_chars:
        text = text[:max_chars] + f"\n[... truncated {len(text) - max_chars} characters]"
    return text


def html_to_text(html: str) -> str:
    """Readable text of an HTML page: trafilatura's main-content extraction, else lxml's text."""
    try:
        import trafilatura

        text = trafilatura.extract(html, include_tables=True, include_comments=False)
        if text:
            return text
    except ImportError:
        pass
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except Exception:  # not parseable as HTML: return it as text
        return html
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    lines = (line.strip() for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def fetch_text(
    url: str, *, timeout_s: float = 10.0, max_bytes: int = 2_000_000, max_chars: int = 20_000
) -> str:
    """GET `url` (http/https only) with time and size caps; HTML becomes readable text."""
    import httpx

    if not url.startswith(("http://", "https://")):
        raise ToolError(f"fetch takes an http(s) URL, got {url[:80]!r}")
    chunks: list[bytes] = []
    size = 0
    try:
        with httpx.stream(
            "GET", url, timeout=timeout_s, follow_redirects=True, headers={"User-Agent": "agentgym-fetch/0.1"}
        ) as resp:
            if resp.status_code >= 400:
                raise ToolError(f"fetch {url}: HTTP {resp.status_code}")
            ctype = resp.headers.get("content-type", "")
            for chunk in resp.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= max_bytes:
                    break
            encoding = resp.encoding or "utf-8"
    except httpx.HTTPError as exc:
        raise ToolError(f"fetch {url} failed: {type(exc).__name__}: {exc}") from exc
    body = b"".join(chunks)[:max_bytes].decode(encoding, errors="replace")
    text = (
        html_to_text(body)
        if "html" in ctype or body.lstrip()[:15].lower().startswith(("<!doctype", "<html"))
        else body
    )
    if size >= max_bytes:
        text += f"\n[... page cut at {max_bytes} bytes]"
    return text[:max_chars]
