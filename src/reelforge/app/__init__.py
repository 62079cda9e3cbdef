"""The composition root: `bootstrap` (settings in, a wired `Platform` out), the container
(`platform`), the ports features attach through (`ports`) and the start-up checks."""
