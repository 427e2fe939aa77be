"""The LSP edge: the server, its protocol, how proposals look in an editor, and the recorder."""
