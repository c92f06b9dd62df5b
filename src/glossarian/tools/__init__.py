"""PyTorch calculators: one file per tool (function + pydantic arguments + routing phrases), run_tool, route, compute."""
# Importing a calculator registers it. The order breaks routing ties: more specific tools first.
from glossarian.tools import (  # noqa: F401
    resnet_bottleneck, attention, conv2d, linear, pooling, cosine_similarity, embedding, kl_divergence, topk, f1_score,
    cross_entropy, softmax, sigmoid, iou, lr_schedule, backbone,
)
from glossarian.tools.registry import (
    Refused,
    Tool,
    ToolCall,
    ToolOutput,
    ToolResult,
    get_tool,
    list_tools,
    run_tool,
    tool_names,
)
from glossarian.tools.render import Computation, compute
from glossarian.tools.router import route

__all__ = [
    "Computation", "Refused", "Tool", "ToolCall", "ToolOutput", "ToolResult",
    "compute", "get_tool", "list_tools", "route", "run_tool", "tool_names",
]
