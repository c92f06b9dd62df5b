"""Matplotlib helpers for tool figures: Agg canvases without pyplot, rendered to PNG bytes."""
import io
from typing import Any

# Labels stay in English: the default font has no CJK glyphs and a server may have no CJK font.


def new_figure(width: float = 6.0, height: float = 3.6) -> tuple[Any, Any]:
    """A figure and one axes on its own Agg canvas (no pyplot global state, so safe in worker threads)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def new_panels(count: int, width: float = 6.0, height: float = 3.0) -> tuple[Any, list[Any]]:
    """A figure with `count` axes side by side."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, list(fig.subplots(1, count, squeeze=False)[0])


def to_png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
