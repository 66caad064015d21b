"""Regenerate docs/img/zerosearch_curriculum.png: the noise curriculum and the measured noise rate.

python docs/img/curriculum_plot.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from agentgym.envs.worlds import generate_world
from agentgym.tools.search.simulated import CorpusSimulator, SimContext
from agentgym.trainers.schedules import zerosearch_noise

TOTAL, CALLS_PER_STEP = 200, 200


def main() -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = list(range(TOTAL + 1))
    for p_s, p_e, b, style in [
        (0.0, 0.5, 4.0, "-"),
        (0.0, 0.5, 1.0, ":"),
        (0.0, 0.75, 4.0, "--"),
        (0.25, 0.5, 4.0, "-."),
    ]:
        label = f"p_s={p_s}, p_e={p_e}, b={b:g}" + (" (linear)" if b == 1.0 else "")
        ax.plot(steps, [zerosearch_noise(s, TOTAL, p_s, p_e, b) for s in steps], style, label=label)
    world = generate_world(seed=0, num_docs=300)
    sim = CorpusSimulator(world, p_start=0.0, p_end=0.5, total_steps=TOTAL, grounding="answer_aware", seed=1)
    qs = world.questions_for("train")[:50]
    rng = random.Random(0)
    xs, ys = [], []
    for step in range(0, TOTAL + 1, 20):
        sim.set_training_progress(step, TOTAL)
        before = sim.stats["noisy_calls"]
        for _ in range(CALLS_PER_STEP):
            q = qs[rng.randrange(len(qs))]
            sim.set_context(SimContext(q.question, list(q.answers), list(q.gold_docs)))
            sim.search(q.expert_queries[0], 3)
        xs.append(step)
        ys.append((sim.stats["noisy_calls"] - before) / CALLS_PER_STEP)
    ax.plot(xs, ys, "o", color="C0", label=f"measured noisy fraction ({CALLS_PER_STEP} calls/point)")
    ax.set_xlabel("training step i (m = 200)")
    ax.set_ylabel("noise probability p_i")
    ax.set_title("ZeroSearch curriculum p_i = p_s + (b^(i/m) - 1)/(b - 1) (p_e - p_s)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(__file__).with_name("zerosearch_curriculum.png")
    fig.savefig(out, dpi=110)
    print(json.dumps({"png": str(out), "measured": dict(zip(xs, ys, strict=True))}))


if __name__ == "__main__":
    main()
