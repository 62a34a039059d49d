import { lazy, Suspense } from 'react';
import { NavLink, Outlet, Route, Routes } from 'react-router';
import { ApiStatusBanner } from '../components/ApiStatusBanner';
import { ApiTokenControl } from '../components/ApiTokenControl';
import { EnvironmentDetailsPage } from '../pages/EnvironmentDetailsPage';
import { EnvironmentsPage } from '../pages/EnvironmentsPage';
import { NotFoundPage } from '../pages/NotFoundPage';
import { RunDetailsPage } from '../pages/RunDetailsPage';
import { RunsPage } from '../pages/RunsPage';
import { TestsPage } from '../pages/TestsPage';
import { LoadingState } from '../components/States';

// The pages with charts load the chart library only when opened.
const TestHistoryPage = lazy(() => import('../pages/TestHistoryPage').then((m) => ({ default: m.TestHistoryPage })));
const InsightsPage = lazy(() => import('../pages/InsightsPage').then((m) => ({ default: m.InsightsPage })));

function Layout() {
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__inner">
          <NavLink to="/" className="brand" aria-label="Baton home">
            <span className="brand__mark" aria-hidden="true" />
            <span className="brand__name">Baton</span>
          </NavLink>
          <nav aria-label="Main" className="mainnav">
            <NavLink to="/" end>
              Runs
            </NavLink>
            <NavLink to="/environments">Environments</NavLink>
            <NavLink to="/tests" end>
              Tests
            </NavLink>
            <NavLink to="/insights">Insights</NavLink>
          </nav>
          <ApiTokenControl />
        </div>
      </header>
      <ApiStatusBanner />
      <main id="main" className="main" tabIndex={-1}>
        <Suspense fallback={<LoadingState />}>
          <Outlet />
        </Suspense>
      </main>
    </>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<RunsPage />} />
        <Route path="runs/:id" element={<RunDetailsPage />} />
        <Route path="environments" element={<EnvironmentsPage />} />
        <Route path="environments/:id" element={<EnvironmentDetailsPage />} />
        <Route path="tests" element={<TestsPage />} />
        <Route path="tests/history" element={<TestHistoryPage />} />
        <Route path="insights" element={<InsightsPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
