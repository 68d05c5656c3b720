-- A plain GET (headers such as X-Session-Token come from the command line); reports as JSON.
require "report"
