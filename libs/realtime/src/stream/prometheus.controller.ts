// The Prometheus exposition of this app's real-time counters, opt-in at the host's path
// (`http.metricsPath`, e.g. GET /metrics), mounted by `prometheusController`.
import { Controller, Get, Injectable, Res, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { PrometheusMetrics } from './prometheus-metrics.service';

/** The route's handler (`@Injectable` so that its constructor's types are emitted for the subclass); `prometheusController(path)` mounts it. */
@Injectable()
export class PrometheusController {
  constructor(
    private readonly metrics: PrometheusMetrics,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get()
  async scrape(@Res({ passthrough: true }) response: unknown): Promise<string> {
    const { contentType, body } = await this.metrics.scrape();
    // Through the HTTP adapter, so that Express and Fastify hosts both get the right content type.
    this.adapterHost.httpAdapter.setHeader(response, 'Content-Type', contentType);
    return body;
  }
}

/** The Prometheus controller at the host's path. */
export function prometheusController(path: string): Type<PrometheusController> {
  class PrometheusRouteController extends PrometheusController {}
  Controller(path)(PrometheusRouteController);
  return PrometheusRouteController;
}
