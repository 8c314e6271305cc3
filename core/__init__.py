"""The shared kernel: what both apps (chatbots, support) rely on and nothing app-specific.

Domain errors and their texts, text cleaning, who is an agent, HTTP bearer auth and the
DRF error mapping, rate limits, the request-size guard. It imports no app of ours.
"""
