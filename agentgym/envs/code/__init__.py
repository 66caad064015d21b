"""`agentgym/Code-v0`: Python functions graded by hidden unit tests in a sandbox."""

from agentgym.envs.code.env import CodeEnv, load_tasks
from agentgym.envs.code.generated import TEMPLATES, generate_task
from agentgym.envs.code.grader import Grade, extract_code, grade
from agentgym.envs.code.loaders import load_humaneval, load_humaneval_jsonl, load_mbpp_jsonl

__all__ = [
    "TEMPLATES",
    "CodeEnv",
    "Grade",
    "extract_code",
    "generate_task",
    "grade",
    "load_humaneval",
    "load_humaneval_jsonl",
    "load_mbpp_jsonl",
    "load_tasks",
]
