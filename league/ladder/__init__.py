"""The ladder: round-robin games between any agents (round_robin.py: players, store, games), ratings from the results
(ratings.py: Elo with bootstrap intervals, TrueSkill; nash.py: the Nash mixture of the payoff) and their report
(report.py: the HTML page and the terminal table)."""
