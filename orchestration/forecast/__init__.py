"""Month-end spend projections: OLS on the month's daily spend, with an 80 % prediction interval."""
