"""Guard-model stages: an operator's Llama Guard, Qwen3Guard-Gen or ShieldGemma checkpoint,
loaded from a local directory (never downloaded), asked about a prompt and read strictly.

``families`` (pure Python) holds the prompts, parsers and taxonomy maps; ``runtime`` is the
one module of the governance package that imports torch and transformers, lazily; ``stage``
turns an answer into signals for the policy.
"""
