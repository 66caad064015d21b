"""GAIA-format loading, attachments of every supported type, and bad data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentgym
from agentgym.envs.gaia.data import load_gaia
from agentgym.envs.gaia.files import read_attachment
from agentgym.errors import EnvNotAvailable, ToolError
from agentgym.eval.runner import EvalConfig, run_eval


def _row(tid: str, q: str = "What is 2+2?", answer: str = "4", level: int = 1, file_name: str = "") -> dict:
    return {"task_id": tid, "Question": q, "Level": level, "Final answer": answer, "file_name": file_name}


def _write(root: Path, rows: list, extra_lines: tuple[str, ...] = ()) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in rows] + list(extra_lines)
    (root / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return root


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in Helvetica (hand-built: no PDF writer needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_reads_every_supported_type(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("plain 41")
    (tmp_path / "a.md").write_text("# head\nmarkdown 42")
    (tmp_path / "a.csv").write_text("name,value\nx,43\n")
    (tmp_path / "a.json").write_text(json.dumps({"value": 44}))
    (tmp_path / "a.jsonl").write_text('{"value": 45}\n{"value": 46}\n')
    assert "plain 41" in read_attachment(tmp_path / "a.txt")
    assert "markdown 42" in read_attachment(tmp_path / "a.md")
    assert "x | 43" in read_attachment(tmp_path / "a.csv")
    assert '"value": 44' in read_attachment(tmp_path / "a.json")
    assert '{"value": 46}' in read_attachment(tmp_path / "a.jsonl")
    with pytest.raises(ToolError, match=r"unsupported file type \.zip; supported: .*\.csv"):
        read_attachment(tmp_path / "a.zip")


def test_reads_office_and_pdf(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl", reason="xlsx needs openpyxl (the eval extra)")
    docx = pytest.importorskip("docx", reason="docx needs python-docx (the eval extra)")
    pytest.importorskip("pypdf", reason="pdf needs pypdf (the eval extra)")
    book = openpyxl.Workbook()
    book.active.append(["item", "count"])
    book.active.append(["lamps", 47])
    book.save(tmp_path / "a.xlsx")
    document = docx.Document()
    document.add_paragraph("docx paragraph 48")
    document.save(tmp_path / "a.docx")
    (tmp_path / "a.pdf").write_bytes(_minimal_pdf("pdf text 49"))
    assert "lamps | 47" in read_attachment(tmp_path / "a.xlsx")
    assert "docx paragraph 48" in read_attachment(tmp_path / "a.docx")
    assert "pdf text 49" in read_attachment(tmp_path / "a.pdf")


def test_loads_jsonl_and_parquet_and_split_layout(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = [_row("t1"), _row("t2", level=2, answer="b, a")]
    _write(tmp_path / "j", rows)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "p.parquet")
    (tmp_path / "pq").mkdir()
    (tmp_path / "p.parquet").rename(tmp_path / "pq" / "metadata.parquet")
    _write(tmp_path / "hf" / "2023" / "validation", rows)
    for ds in (
        load_gaia(tmp_path / "j"),
        load_gaia(tmp_path / "pq"),
        load_gaia(tmp_path / "hf", split="validation"),
    ):
        assert [t.id for t in ds.tasks] == ["t1", "t2"] and not ds.problems
        assert ds.tasks[1].meta["level"] == 2 and ds.tasks[1].answer == "b, a"
    assert [t.id for t in load_gaia(tmp_path / "j", levels=(2,)).tasks] == ["t2"]
    with pytest.raises(EnvNotAvailable, match="no GAIA metadata found"):
        load_gaia(tmp_path / "nowhere")


@pytest.fixture
def bad_dir(tmp_path: Path) -> Path:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "ok.csv").write_text("v\n7\n")
    (root / "corrupt.xlsx").write_bytes(b"this is not a zip archive")
    rows = [
        _row("good-1"),
        _row("good-file", q="Sum the column.", answer="7", file_name="ok.csv"),
        {"task_id": "no-question", "Level": 1, "Final answer": "1", "file_name": ""},
        {"task_id": "no-answer", "Question": "q", "Level": 1, "file_name": ""},
        _row("bad-level", level="hard"),  # type: ignore[arg-type]
        _row("missing-file", file_name="absent.pdf"),
        _row("corrupt-file", answer="3", file_name="corrupt.xlsx"),
        _row("good-1"),  # duplicate id
    ]
    return _write(root, rows, extra_lines=("{not json",))


def test_bad_rows_become_problems_naming_task_and_field(bad_dir: Path) -> None:
    ds = load_gaia(bad_dir)
    assert [t.id for t in ds.tasks] == ["good-1", "good-file", "corrupt-file"]
    problems = {(p.task_id, p.field) for p in ds.problems}
    assert problems == {
        ("no-question", "Question"),
        ("no-answer", "Final answer"),
        ("bad-level", "Level"),
        ("missing-file", "file_name"),
        ("good-1", "task_id"),
        ("<metadata.jsonl line 9>", "(row)"),
    }
    text = " | ".join(map(str, ds.problems))
    assert "GAIA task missing-file: field `file_name`: attachment 'absent.pdf' not found" in text


def test_unreadable_attachment_is_an_observation_naming_the_task(bad_dir: Path) -> None:
    env = agentgym.make("agentgym/GAIA-v0", data_dir=str(bad_dir))
    env.reset(options={"task": "corrupt-file"})
    obs, reward, terminated, _, info = env.step("<read_file>corrupt.xlsx</read_file>")
    assert not terminated and reward == 0.0
    assert "task corrupt-file" in obs and "unreadable" in obs
    assert "task corrupt-file" in info["error"]
    obs, *_ = env.step("<read_file>other.csv</read_file>")
    assert "this task's attachment is 'corrupt.xlsx'" in obs


def test_eval_over_bad_data_records_errors_and_runs_the_rest(bad_dir: Path, tmp_path: Path) -> None:
    cfg = EvalConfig(
        env_id="agentgym/GAIA-v0",
        env_kwargs={"data_dir": str(bad_dir)},
        out=tmp_path / "run",
        model="oracle",
        report=False,
    )
    summary = run_eval(cfg, progress=False)
    lines = [json.loads(x) for x in (tmp_path / "run" / "episodes.jsonl").read_text().splitlines()]
    by_key = {r["task_key"]: r for r in lines}
    assert (
        by_key["good-1"]["success"] and by_key["good-file"]["success"] and by_key["corrupt-file"]["success"]
    )
    assert "field `file_name`" in by_key["missing-file"]["error"] and not by_key["missing-file"]["success"]
    assert "field `Question`" in by_key["no-question"]["error"]
    assert (
        summary["overall"]["errors"] == 5 and summary["overall"]["episodes"] == 8
    )  # the duplicate row is only logged


def test_final_answer_line_is_accepted(tmp_path: Path) -> None:
    _write(tmp_path / "d", [_row("t1", answer="1000")])
    env = agentgym.make("agentgym/GAIA-v0", data_dir=str(tmp_path / "d"))
    env.reset(options={"task": "t1"})
    *_, terminated, _, info = env.step("I reasoned a lot.\nFINAL ANSWER: $1,000")
    assert terminated and info["success"] and info["model_answer"] == "$1,000"
    env.reset(options={"task": "t1"})
    *_, info = env.step("<answer>1000 USD</answer>")
    assert info["success"] is False


def test_openai_format_final_answer(tmp_path: Path) -> None:
    _write(tmp_path / "d", [_row("t1", answer="Beatles")])
    env = agentgym.make("agentgym/GAIA-v0", data_dir=str(tmp_path / "d"), action_format="openai")
    env.reset(options={"task": "t1"})
    *_, info = env.step(json.dumps({"role": "assistant", "content": "FINAL ANSWER: The Beatles"}))
    assert info["model_answer"] == "The Beatles" and info["success"] is False
