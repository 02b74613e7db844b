/** English strings of the core pages (Overview, Clients, …); filled by those pages. */
export default {};
