"""`proactive-ls finetune`: LoRA fine-tunes of the proposer and the judge from the feedback log (docs/training.md).

``data`` builds the training sets (no heavy imports); ``run`` trains with TRL (needs the ``train``
extra); ``card`` writes what was done next to the adapter.
"""
