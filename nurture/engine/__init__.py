"""The engine: glue that feeds stored data to the core's decisions and carries them out
through the store, the renderer and a mail transport. It never reads the clock: every
function takes `now`.
"""
