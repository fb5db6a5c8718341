"""Grid members (网格员) at work: chat identity, commands, and what they do with their grid's tickets."""
