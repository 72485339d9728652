"""The read side over stored posts: backtest, search, export, rematch."""
