"""`salesctl demo`: a scripted tour of salesctl in a throwaway workspace.

The tour runs real `salesctl` commands, each in its own process, against a temporary data
directory with its own SQLite database, and points every provider at the package's provider
simulator on a loopback port, so it needs no keys and no network and charges nothing.

    from salesctl.demo.tour import run_demo
    result = run_demo(narrator, keep=False, here=False)
"""
