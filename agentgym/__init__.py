"""agentgym: Gymnasium-style multi-turn tool environments for LLM agents, with an RL trainer.

>>> import agentgym
>>> env = agentgym.make("agentgym/Calculator-v0")
>>> obs, info = env.reset(seed=0)
>>> obs, reward, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
"""

from agentgym import errors
from agentgym.core.env import Env, Task, fork
from agentgym.core.registration import list_envs, load_plugins, make, register
from agentgym.core.tool_env import Score, ToolEnv
from agentgym.envs import register_builtins
from agentgym.tools.base import Tool, ToolResult, Toolset, tool

__version__ = "0.1.0"

register_builtins()

__all__ = [
    "Env",
    "Score",
    "Task",
    "Tool",
    "ToolEnv",
    "ToolResult",
    "Toolset",
    "__version__",
    "errors",
    "fork",
    "list_envs",
    "load_plugins",
    "make",
    "register",
    "tool",
]
