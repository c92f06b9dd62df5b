"""PyTorch computation tools: a registry of typed demo functions, run_tool to run them safely, route() to pick one."""
# Importing a tool module registers it; the order here is the order list_tools() shows.
from glossarian.tools import softmax, pooling, bottleneck, warmup, embedding, backbone, cross_entropy  # noqa: F401
from glossarian.tools.registry import (
    Limits,
    Tool,
    ToolCall,
    ToolOutput,
    ToolResult,
    get_tool,
    list_tools,
    run_tool,
    tool,
    tool_names,
)
from glossarian.tools.router import route

__all__ = [
    "Limits", "Tool", "ToolCall", "ToolOutput", "ToolResult",
    "get_tool", "list_tools", "route", "run_tool", "tool", "tool_names",
]
