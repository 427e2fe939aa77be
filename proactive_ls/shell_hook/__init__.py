"""Shells outside the editor tell the running servers of their workspace what they ran.

``proactive-ls shell-hook bash|zsh|fish`` prints a snippet for the user's rc file; after each
command it runs :mod:`proactive_ls.shell_hook.report`, which writes one JSON line to every server's
socket in :func:`~proactive_ls.shell_hook.paths.socket_dir` (user-only, 0700). Each server's
:class:`~proactive_ls.shell_hook.listener.ShellHookListener` keeps the commands that ran inside its
workspace and feeds them to the session like ``proactive/terminalCommand``.

This package stays light: the reporter runs after every command and imports only the standard
library and platformdirs.
"""
