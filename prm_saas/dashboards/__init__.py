"""KPI dashboards: daily metrics as SQL aggregates, a roll-up for finished days,
and the chart data the tenant and platform dashboards draw."""
