"""The line-mode frontend: a prompt-toolkit REPL on the same core as the TUI.

``smtpdbg repl [TARGET]`` reads commands of the language with completion
(the core's :func:`smtpdbg.core.completion.complete`, adapted by
:mod:`smtpdbg.repl.completer`), a bottom toolbar with the argument hint and
the session state, history search and auto-suggestion, and prints the
transcript above the prompt as it happens. With stdin not a terminal it reads
commands line by line instead (:mod:`smtpdbg.repl.piped`) and never prompts.
"""
