/**
 * The longest range usage is split by tool over: a year of days, whatever the year (a row per day
 * and tool). Shared by the route that refuses a longer one and the dashboard that says so before
 * asking, so the two cannot drift apart; it imports nothing, so the browser bundle takes it as is.
 */
export const SPLIT_MAX_DAYS = 366;
