function [coeff, score] = pca(X, varargin)
  % Stands in for MATLAB Statistics Toolbox pca (not in core Octave): centred
  % data, SVD, MATLAB's sign rule (largest |coefficient| of each component
  % positive); honours 'NumComponents'.
  nc = min(size(X));
  for i = 1:2:numel(varargin)
    if strcmpi(varargin{i}, 'NumComponents')
      nc = varargin{i+1};
    end
  end
  Xc = X - mean(X, 1);
  [~, ~, V] = svd(Xc, 'econ');
  coeff = V(:, 1:nc);
  [~, imax] = max(abs(coeff), [], 1);
  sgn = sign(coeff(sub2ind(size(coeff), imax, 1:nc)));
  sgn(sgn == 0) = 1;
  coeff = coeff .* sgn;
  score = Xc * coeff;
end
