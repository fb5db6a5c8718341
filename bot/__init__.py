"""Channels: the Rasa client shared by every channel, and the Telegram bridge."""
