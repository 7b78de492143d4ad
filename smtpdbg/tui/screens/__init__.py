"""Modal screens: the DATA composer, the password prompt, the connect dialog, help and small pickers."""
