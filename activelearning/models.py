"""Active learning (next on the roadmap): models, query strategies and priority queues.

No tables yet. The design this app will follow is in activelearning/README.md.
"""
