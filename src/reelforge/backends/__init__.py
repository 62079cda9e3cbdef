"""Generation backends behind one small seam (`GenerationBackend`)."""
