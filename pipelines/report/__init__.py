"""`foil report`: a static, offline HTML report of the published file.

queries.py reads the published file (the shipped analyses in dbt_project/analyses/ where one answers
the question, plus the rows each figure cites); headline.py turns them into the numbers `foil status`
also prints; charts.py draws each figure with Altair and renders it to inline SVG with vl-convert;
render.py puts figures, great_tables tables and the Jinja2 template together into one index.html.
"""
