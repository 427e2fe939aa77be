"""Held-out checks that mean something for these models, computed the same way before and after training.

Each held-out row is a pair of answers to one prompt, one right and one wrong; the model "gets it
right" when it gives the right answer the higher log-likelihood. That is:

* the proposer (SFT): the accepted task over silence (``"Proactive Task": null``) on that history;
* the proposer (DPO): the chosen answer over the rejected one;
* the judge: the user's judgement over the opposite one — its held-out accuracy.

Scoring, not sampling: it is deterministic, cheap (two forward passes a row) and needs no decoding
constraints; the served model decodes greedily under the schema, which the tests check end to end.
"""

from __future__ import annotations

import json
from typing import Any

from proactive_ls.training.data import judge_answer


def silence(answer: str) -> str:
    """The same answer with no task: what the proposer says when it stays silent."""
    obj = json.loads(answer)
    obj.update({"Thoughts": "", "Proactive Task": None, "Response": ""})
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def pairs(role: str, method: str, rows: list[dict[str, Any]]) -> list[tuple[list[dict[str, str]], str, str]]:
    """(prompt, right answer, wrong answer) for each held-out row."""
    out = []
    for row in rows:
        if method == "dpo":
            out.append((row["prompt"], row["chosen"][0]["content"], row["rejected"][0]["content"]))
        elif role == "judge":
            accepted = bool(row.get("accepted", '"accepted"' in row["completion"][0]["content"]))
            out.append((row["prompt"], judge_answer(accepted), judge_answer(not accepted)))
        else:
            answer = row["completion"][0]["content"]
            try:
                wrong = silence(answer)
            except ValueError:
                continue
            if wrong != answer:
                out.append((row["prompt"], answer, wrong))
    return out


def _logprob(model: Any, tokenizer: Any, prompt: list[dict[str, str]], answer: str) -> float:
    import torch

    prefix = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    prompt_ids = tokenizer(prefix, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(answer + (tokenizer.eos_token or ""), add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + answer_ids], device=model.device)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, :-1].float()
    logp = torch.log_softmax(logits, dim=-1)
    targets = ids[0, 1:]
    start = len(prompt_ids) - 1
    return float(logp[start:].gather(1, targets[start:, None]).sum())


def pair_accuracy(model: Any, tokenizer: Any, role: str, method: str, rows: list[dict[str, Any]]) -> float | None:
    """The share of held-out rows where the right answer is the more likely one; None without rows."""
    checks = pairs(role, method, rows)
    if not checks:
        return None
    was_training = model.training
    model.eval()
    right = sum(
        _logprob(model, tokenizer, prompt, good) > _logprob(model, tokenizer, prompt, bad)
        for prompt, good, bad in checks
    )
    if was_training:
        model.train()
    return right / len(checks)
