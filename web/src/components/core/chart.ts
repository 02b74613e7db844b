/** One line of a TimeChart. */
export interface ChartSeries {
  name: string;
  /** [epoch ms, value]; null draws a gap. */
  points: Array<[number, number | null]>;
}
