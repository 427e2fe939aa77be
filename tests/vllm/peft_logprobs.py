"""Run with the trainer's python: the first answer token's top log-probabilities under transformers + PEFT.

    python tests/vllm/peft_logprobs.py BASE ADAPTER MESSAGES_JSON

Prints {"adapter": {token_id: logprob}, "base": {token_id: logprob}} (top 5 each, float32, the chat
template of BASE with the generation prompt), for tests/vllm/test_finetune.py to hold vLLM's answer
through the same adapter against: what PEFT computes is what the adapter means.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base, adapter, messages = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), adapter)
    model.eval()
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = {}
    with torch.no_grad():
        for name in ("adapter", "base"):
            if name == "base":
                with model.disable_adapter():
                    logits = model(ids["input_ids"]).logits[0, -1]
            else:
                logits = model(ids["input_ids"]).logits[0, -1]
            top = torch.topk(logits.log_softmax(-1), 5)
            out[name] = {str(int(i)): float(v) for v, i in zip(top.values, top.indices, strict=True)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
