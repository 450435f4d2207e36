// GET /health: 200 when the app and both databases (the library's and the sample's) answer, with the
// node's name (NODE_NAME), so that behind a load balancer one can tell which node answered.
import { Controller, Get, Inject } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { REALTIME_CONNECTION } from 'nest-realtime';
import { hostname } from 'os';
import { DataSource } from 'typeorm';
import type { SampleConfig } from '../sample.config';
import { SAMPLE_CONFIG } from '../sample.constants';

export type SampleHealth = HealthCheckResult & { node: string };

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    @InjectDataSource(REALTIME_CONNECTION) private readonly realtimeDb: DataSource,
    @InjectDataSource() private readonly sampleDb: DataSource,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
  ) {}

  @Get()
  @HealthCheck()
  async check(): Promise<SampleHealth> {
    const result = await this.health.check([
      () => this.db.pingCheck('realtime-db', { connection: this.realtimeDb }),
      () => this.db.pingCheck('sample-db', { connection: this.sampleDb }),
    ]);
    return { ...result, node: this.config.nodeName ?? hostname() };
  }
}
