"""The interactive dashboard (``piracysim dashboard``): a local Solara app with a what-if mode on the compiled
engine and a watch mode on the Mesa engine (Mesa's SolaraViz).

``whatif`` holds the computation and the export (no Solara import, so it is testable and reusable);
``figures`` the charts; ``watch`` the SolaraViz page; ``app`` the pages; ``server`` the local server.
"""
