"""Headless replay of recorded sessions: the file format, its loaders, replay through the engine on
a virtual clock (``engine``), and replay through the real server over stdio (``over_lsp``)."""
