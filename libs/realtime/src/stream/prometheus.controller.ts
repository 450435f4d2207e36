// GET /metrics: the Prometheus exposition of this app's real-time counters.
import { Controller, Get, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { PrometheusMetrics } from './prometheus-metrics.service';

@Controller()
export class PrometheusController {
  constructor(
    private readonly metrics: PrometheusMetrics,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get('metrics')
  async scrape(@Res({ passthrough: true }) response: unknown): Promise<string> {
    const { contentType, body } = await this.metrics.scrape();
    // Through the HTTP adapter, so that Express and Fastify hosts both get the right content type.
    this.adapterHost.httpAdapter.setHeader(response, 'Content-Type', contentType);
    return body;
  }
}
