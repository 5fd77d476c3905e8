/** Types of parse-prometheus-text-format, which ships none: the text exposition format, parsed into prom2json's shape. */
declare module "parse-prometheus-text-format" {
  /** Parses an exposition; throws on text it cannot read. */
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
