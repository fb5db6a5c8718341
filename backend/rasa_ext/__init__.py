"""Everything the Rasa server loads of this project: NLU components, tracker and lock store, channel, patches."""
