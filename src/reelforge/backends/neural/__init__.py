"""Neural video backends through diffusers, loaded from local directories (never a hub).

torch and diffusers are imported only inside `runtime.py` and `cache.py`, and only when a job
runs; everything a submit needs (families, options, checks) is plain Python.
"""
