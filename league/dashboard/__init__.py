"""The league's page: `arena league serve DIR` (league.cli.serve) serves one page on 127.0.0.1 that shows a league
as it runs (players, payoff heat map, ratings over time, lineage, matchmaking, matches in flight, learning curves,
replays, the ladder), read-only against its folder. `data` builds what the page shows; `server` serves it."""
