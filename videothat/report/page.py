"""The parts every HTML report shares: the page, its figure cards, embedded plots, cut lists."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path


def figure_png(fig) -> str:
    """A matplotlib figure as base64 PNG (for ``<img src="data:image/png;base64,...">``); closes it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def html_page(title: str, kind: str, figures: list[tuple[str, str, str]], body: str, *, video: Path | None) -> str:
    """A self-contained report page: ``title``, ``kind`` of report, a card per ``(name,
    value, note)`` of ``figures``, then ``body`` (HTML)."""
    cards = "\n".join(f'<div class="card"><div class="v">{v}</div><div class="k">{k}</div>'
                      f'<div class="n">{html.escape(n)}</div></div>' for k, v, n in figures)
    title = html.escape(title)
    video_line = f"<p>Video: <code>{html.escape(str(video))}</code></p>" if video else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>VideoThat report: {title}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }}
h1 {{ font-size: 1.5em; margin-bottom: .2em; }} .sub {{ color: #666; margin-top: 0; }}
.cards {{ display: flex; gap: 1em; flex-wrap: wrap; margin: 1.2em 0; }}
.card {{ flex: 1 1 200px; border: 1px solid #ddd; border-radius: 8px; padding: .8em 1em; }}
.v {{ font-size: 1.9em; font-weight: 600; }} .k {{ font-weight: 600; }} .n {{ color: #666; font-size: .85em; }}
img {{ max-width: 100%; }} table {{ border-collapse: collapse; width: 100%; font-size: .9em; }}
th, td {{ text-align: right; padding: .3em .6em; border-bottom: 1px solid #eee; }}
th:nth-child(2), td:nth-child(2) {{ text-align: left; }} th {{ background: #f6f6f6; }}
</style></head><body>
<h1>{title}</h1><p class="sub">{html.escape(kind)}</p>{video_line}
<div class="cards">{cards}</div>
{body}
</body></html>
"""


def segment_rows(segments) -> str:
    """Timeline segments (:class:`~videothat.core.timeline.Cut`) as HTML table rows (#, source,
    in, out, song start, end, length, speed, score)."""
    return "\n".join(
        f"<tr><td>{i + 1}</td><td>{html.escape(Path(c.source).name)}</td><td>{c.source_start:.2f}</td>"
        f"<td>{c.source_end:.2f}</td><td>{c.song_start:.2f}</td><td>{c.song_end:.2f}</td>"
        f"<td>{c.duration:.2f}</td><td>{c.speed:.2f}</td><td>{c.score:.3f}</td></tr>"
        for i, c in enumerate(segments)
    )


SEGMENT_HEADER = ("<tr><th>#</th><th>source</th><th>in (s)</th><th>out (s)</th><th>song start</th><th>song end</th>"
                  "<th>length</th><th>speed</th><th>score</th></tr>")
